"""Run plumbing shared by every trainer: run folders and checkpoints, command-line flags and usage
errors, devices, jobs, schedules, pictures, torch tensors out of the vector env."""
