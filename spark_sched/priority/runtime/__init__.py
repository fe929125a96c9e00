"""The priority controller at run time: its tick, one read of the scheduler, submission, stopping, releasing."""
