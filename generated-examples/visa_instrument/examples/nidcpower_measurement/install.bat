@echo off
rem Installs this folder's dependencies into .venv (venv_setup.py; pip's output goes
rem to venv-install.log). NI Discovery Service runs this ("installPath" in the
rem .serviceconfig next to it), e.g. when the folder comes from a plug-in library;
rem start.bat runs it when .venv is not installed yet. Python: %PYTHON% if set,
rem else the py launcher for the version in .python-version (scripts/deploy.py
rem writes it: the wheelhouse fits that version only; without it py -3), else python.
rem Written for any folder path (spaces, parentheses, &, non-ASCII, UNC): every path
rem is quoted and no path is expanded inside a parenthesized block.
setlocal EnableExtensions DisableDelayedExpansion
set "ERRORLEVEL="
pushd "%~dp0" || exit /b 1
set "WANT=3"
if exist ".python-version" set /p WANT=<".python-version"
if defined PYTHON goto :given_python
where py >nul 2>nul
if %ERRORLEVEL% neq 0 goto :plain_python
py -%WANT% -c "" >nul 2>nul
if %ERRORLEVEL% neq 0 goto :no_such_python
py -%WANT% venv_setup.py
goto :installed
:given_python
rem A PYTHON value written with quotes ("C:\Program Files\...\python.exe") works too.
set "PYTHON=%PYTHON:"=%"
"%PYTHON%" venv_setup.py
goto :installed
:plain_python
python venv_setup.py
goto :installed
:no_such_python
echo install.bat: this folder needs Python %WANT%, and the py launcher finds none ("py -%WANT%"). Install Python %WANT% for all users, or set PYTHON to the full path of its python.exe. 1>&2
popd
exit /b 1
:installed
rem Any exit code but 0 is a failure, negative ones too (0xC000013A: Ctrl+C, window closed).
if %ERRORLEVEL% neq 0 goto :failed
popd
exit /b 0
:failed
echo install.bat: .venv is not installed; see the error above and "%CD%\venv-install.log". 1>&2
popd
exit /b 1
