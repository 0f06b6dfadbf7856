from . import export, main
