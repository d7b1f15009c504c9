"""Simulators of the systems Pishkhan talks to but cannot reach from here."""
