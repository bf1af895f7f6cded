"""Collectors: GPU (NVML), CPU and RAM (CodeCarbon) energy and served tokens, written to the spool.

Heavy dependencies (pynvml, codecarbon, psutil) are imported inside the functions that need them.
"""
