// MathJax 3 configuration for pymdownx.arithmatex (generic mode) and the notebook pages.
// Docstrings and Markdown pages: arithmatex wraps math in \( \) and \[ \] inside
// elements of class "arithmatex". Notebook markdown cells (rendered by mkdocs-jupyter)
// keep their $ and $$ delimiters inside elements of class "jp-MarkdownOutput".
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex|jp-MarkdownOutput",
  },
};

document$.subscribe(() => {
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
