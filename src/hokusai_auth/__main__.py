from hokusai_auth.cli import main

main()
