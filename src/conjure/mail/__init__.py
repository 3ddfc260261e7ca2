"""Email: compose a message, queue it as a durable ``mail.send`` job, deliver it by SMTP or to a file."""
