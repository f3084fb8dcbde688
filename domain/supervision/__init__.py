"""Clinical supervision: the sessions a supervisee logs with their supervisor (seed 001, Module 7
category 6, Georgia rule 4)."""
