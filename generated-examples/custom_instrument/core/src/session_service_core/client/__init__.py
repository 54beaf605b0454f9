"""The client side: finding the service (`connection`) and the session base (`session_base`)."""
