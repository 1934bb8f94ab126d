"""The HTTP edge shared by the services: dependencies, errors, content responses, pages."""
