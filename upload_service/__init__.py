"""The upload service (:8001): takes bytes in and serves the web UI."""
