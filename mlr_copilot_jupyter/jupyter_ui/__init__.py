"""The Jupyter surface: IPython magics, ipywidgets, the comm bridge to the JupyterLab extension
(and its protocol), live inserts and the comparison UI. It calls the facade (:mod:`..api`) only."""
