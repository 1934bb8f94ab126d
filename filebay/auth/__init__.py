"""Who is asking. (The auth service and JWT checks arrive with the auth issue.)"""
