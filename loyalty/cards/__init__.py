"""Membership cards: tiers with explainable rules, signed QR codes and the card image."""
