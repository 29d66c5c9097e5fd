"""ram_env: the Recurrent Attention Model task (Mnih et al. 2014) as Gymnasium environments."""
