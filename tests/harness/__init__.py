"""What every test suite shares: real servers in either shape (``servers``), one HTTP client
that fails a test on any 5xx and the login helpers (``http``), one way to wait
(``waiting``), fresh PostgreSQL databases and a table's rows (``database``), and one portal
object over a running filebay with logins on (``portal``).

Suites extend these in their own ``support.py`` with what only they need."""
