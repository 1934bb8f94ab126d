"""The auth service (:8004): users, logins, JWTs and API tokens, the login and admin pages."""
