"""Evaluation: question sets (questions.py), pure metrics (metrics.py), the runner that asks the
same Assistant as the chat (runner.py), reports with plots (report.py), run comparison (compare.py).
"""
