"""Data for Sparse MERIT: generated emotional speech and noise, mixing, manifests, demo calls, MSP-Podcast loader.

See README.md in this folder for the commands, the split policy and the manifest format.
"""
