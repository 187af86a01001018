"""Webhook records: the items (:mod:`.record`) and the store that writes and reads them (:mod:`.store`)."""
