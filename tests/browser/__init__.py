"""Browser tests (JupyterLab + nbgrader in headless chromium) / 浏览器测试."""
