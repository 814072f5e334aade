"""Berth's benchmark harness: engines run side by side, test images, benchmarks, reports."""
