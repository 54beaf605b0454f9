@echo off
rem Starts the CustomInstrument server. NI Discovery Service runs this through
rem CustomInstrument.serviceconfig; it also works by hand. The first run creates
rem .venv here and installs the client (which holds the stubs) and the server.
setlocal
cd /d "%~dp0"
if not exist ".venv\installed" (
    if not exist ".venv\Scripts\python.exe" python -m venv .venv || exit /b 1
    ".venv\Scripts\python.exe" -m pip install --disable-pip-version-check -q -e ..\client -e . || exit /b 1
    type nul > ".venv\installed"
)
".venv\Scripts\python.exe" -m custom_instrument_server --service-config "%~dp0CustomInstrument.serviceconfig" %*
