"""newshub: a static-site generator for multilingual, mobile-first NGO news hubs."""

__version__ = "0.2.0"
