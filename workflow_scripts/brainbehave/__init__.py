"""brainbehave: from raw behaviour videos and NWB neural data to joint brain-behaviour latents."""

__version__ = "0.1.0"
