"""Getting data into a job: Reader (a stored table) and DataTransform (FATE's DataIO)."""
