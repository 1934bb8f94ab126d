"""The auth service (:8004): users, logins and JWTs. Arrives with the auth issue; until then
every request acts as the single user ``admin``."""
