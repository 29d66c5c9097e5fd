"""The Recurrent Attention Model: the model, REINFORCE, its trainers for the image tasks and
Catch, the fixed-split evaluation pass, its checkpoints and GIFs."""
