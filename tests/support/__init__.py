"""Helpers shared by the test layers: fake servers, CLI plumbing, scripted agents, browser steps."""
