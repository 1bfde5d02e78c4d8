"""What every component is written against: the task's context, parameter reading, the
federation transport, learner helpers, and tools for testing a protocol in one process."""
