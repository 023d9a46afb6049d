"""Sphinx configuration of the sklfair documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (what ``.ci/run``
does): warnings are errors, and sphinx-gallery runs every ``examples/plot_*.py``
script, so a broken example breaks the build.
"""

import os
import re
import sys
from datetime import date

import matplotlib

# Examples run in this process: draw off-screen, and keep torch to one thread
# (the example networks are small; on a busy 2-core machine several OpenMP
# threads are many times slower than one).
matplotlib.use("Agg")
import torch  # noqa: E402

torch.set_num_threads(1)

sys.path.insert(0, os.path.abspath(".."))
import sklfair  # noqa: E402

project = "sklfair"
author = "The sklfair developers"
copyright = f"{date.today().year}, {author}"
version = release = sklfair.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_static_path = ["_static"]
html_theme = "pydata_sphinx_theme"
html_title = f"sklfair {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}

# API reference: one page per public object, generated from the docstrings.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# The example gallery.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sklfair",),
    "reference_url": {"sklfair": None},
    "backreferences_dir": "gen_modules/backreferences",
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "download_all_examples": False,
    "remove_config_comments": True,
}


# Docstrings write shapes as ``(n_samples, n_features_in_)``: in reST a word
# ending in "_" is a link to a target, so quote such names before numpydoc
# renders them (priority < 500: before numpydoc's own handler).
_TRAILING_UNDERSCORE_IN_SHAPE = re.compile(r"(?<=[(, ])([A-Za-z]\w*_)(?=[,)])")


def _quote_attribute_names_in_shapes(app, what, name, obj, options, lines):
    for index, line in enumerate(lines):
        if "`" not in line and ("_," in line or "_)" in line):
            lines[index] = _TRAILING_UNDERSCORE_IN_SHAPE.sub(r"``\1``", line)


# sklearn generates ``set_{fit,partial_fit,score}_request`` from method
# signatures; their docstrings point into sklearn's own glossary and user
# guide, which do not exist here. They are sklearn's API, documented there.
def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _quote_attribute_names_in_shapes, 100)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
