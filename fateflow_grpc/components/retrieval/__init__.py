"""Retrieval: SecureInformationRetrieval."""
