"""pygame desktop player: play screen, sketch screen, keymap screen, HUD and recorder.

Importing this package does not import pygame; the modules that draw do.
"""
