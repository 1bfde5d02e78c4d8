"""Getting data into a job: Reader (a stored table), DataTransform (FATE's DataIO) and Union
(several tables of a party as one)."""
