print("articlesync")
