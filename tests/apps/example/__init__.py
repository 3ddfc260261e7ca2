"""A throwaway app built only from the kit, to prove a new app needs no platform file changed."""
