"""Evaluation: question sets (questions.py), pure metrics (metrics.py), the runner that asks the
same Assistant as the chat (runner.py), reports with plots (report.py), run comparison (compare.py).

questions.load_questions: a question set (JSON lines), validated line by line
runner.run_eval: every question asked of an Assistant; results, summary and reports written
metrics.citation_precision: one of the metrics, all pure functions of what an answer cited
report.write_reports: report.md and report.html with plots
compare.compare: two runs, per metric and per question
gate.check_gate: the thresholds a run must meet (CI)
suggestions.leave_one_out: suggested-side accuracy, each labelled source left out in turn
attribution.measure: attribution accuracy of LLM answers on a set of claims
"""
