// ArticleModel
