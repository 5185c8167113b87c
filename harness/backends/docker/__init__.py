"""The ``docker`` backend: the MTA, Toxiproxy and every site in containers on a private network."""
