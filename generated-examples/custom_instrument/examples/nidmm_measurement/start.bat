@echo off
rem Starts this measurement plug-in. NI Discovery Service runs it through the
rem .serviceconfig; it also works by hand. The first run creates .venv here.
setlocal
cd /d "%~dp0"
if not exist ".venv\installed" (
    if not exist ".venv\Scripts\python.exe" python -m venv .venv || exit /b 1
    ".venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -r requirements.txt || exit /b 1
    type nul > ".venv\installed"
)
".venv\Scripts\python.exe" measurement.py %*
