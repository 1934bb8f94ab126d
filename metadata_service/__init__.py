"""The metadata service (:8002): owns the database of files and their owners."""
