from evrepro.cli import main

raise SystemExit(main())
