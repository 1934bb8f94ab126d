"""Zip archives of a user's files (DESIGN §8.2): a layout computed from the records alone
(names, sizes, CRC-32s, times), so any byte range of the archive maps to header bytes and
file byte ranges without reading a file before it; streamed stored (no compression)."""
