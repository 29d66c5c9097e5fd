"""Run plumbing shared by every trainer: run folders and checkpoints, command-line flags and usage
errors, devices and the machine's CPU, jobs, schedules, pictures, torch tensors out of the vector
env."""
