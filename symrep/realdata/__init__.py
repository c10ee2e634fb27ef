"""VAEs on real data: batched nonlinear and linear models, their training, and the
Frechet distance of generated images."""
