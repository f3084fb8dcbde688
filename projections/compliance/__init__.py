"""The compliance read model: facts the rules judge, and the alerts they raise (issue 5)."""
