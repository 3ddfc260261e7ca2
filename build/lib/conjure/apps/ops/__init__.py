"""The ops app (seed 003, MyHibachi): stations, bookings, customers, leads, reviews, an AI-assisted inbox."""
