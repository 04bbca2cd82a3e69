"""The vocabulary every layer speaks: the normalized models, the list query, phone numbers, text
safety, the caller's view, the catalog of provider names.
"""
