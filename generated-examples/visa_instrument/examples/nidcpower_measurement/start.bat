@echo off
rem Starts this measurement plug-in. NI Discovery Service runs this through the .serviceconfig
rem next to it, with no console; it also works by hand (start.bat).
rem The first run builds .venv here (venv_setup.py; pip's output goes to
rem venv-install.log). Python: %PYTHON% if set, else the py launcher, else python.
setlocal
cd /d "%~dp0"
if defined PYTHON goto :given_python
where py >nul 2>nul
if errorlevel 1 goto :plain_python
py -3 venv_setup.py
goto :built
:given_python
"%PYTHON%" venv_setup.py
goto :built
:plain_python
python venv_setup.py
:built
if errorlevel 1 (
    echo start.bat: .venv is not ready; see the error above and %~dp0venv-install.log. Set PYTHON to the full path of a Python 3.10+ python.exe to choose another Python. 1>&2
    exit /b 1
)
".venv\Scripts\python.exe" measurement.py %*
