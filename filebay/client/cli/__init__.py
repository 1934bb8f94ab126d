"""The ``filebay`` client commands, one module per concern; ``commands`` registers them."""
