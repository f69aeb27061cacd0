"""genie_play: a small, playable Genie (tokenizer, latent action model, MaskGIT dynamics)."""

__version__ = "0.1.0"
