@echo off
rem Starts this measurement plug-in. NI Discovery Service runs this ("path" in the .serviceconfig
rem next to it) with no console, after install.bat ("installPath") has built .venv;
rem started by hand (start.bat) it runs install.bat first when .venv is not installed.
rem It runs the Python .venv was made from with the venv's environment
rem (__PYVENV_LAUNCHER__, as .venv\Scripts\python.exe itself does) rather than that
rem redirector: closing the console window ends the redirector at once, and the job
rem it runs the interpreter in with it, before the server could unregister.
rem Written for any folder path (spaces, parentheses, &, non-ASCII, UNC): every path
rem is quoted and no path is expanded inside a parenthesized block.
setlocal EnableExtensions DisableDelayedExpansion
set "ERRORLEVEL="
pushd "%~dp0" || exit /b 1
if exist ".venv\installed.sha256" goto :installed
call install.bat
if %ERRORLEVEL% neq 0 goto :not_installed
:installed
set "BASE="
if exist ".venv\base-python.txt" set /p BASE=<".venv\base-python.txt"
if not defined BASE goto :redirector
if not exist "%BASE%" goto :redirector
set "__PYVENV_LAUNCHER__=%~dp0.venv\Scripts\python.exe"
"%BASE%" measurement.py %*
goto :done
:redirector
".venv\Scripts\python.exe" measurement.py %*
:done
set "CODE=%ERRORLEVEL%"
popd
exit /b %CODE%
:not_installed
echo start.bat: .venv is not installed; see the error above. 1>&2
popd
exit /b 1
